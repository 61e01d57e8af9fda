//! Subscription states (docs/rules.md R7).

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// R7: access (verification, usage, launches) is granted only while `Active`.
    SubscriptionState { Pending = "pending", Active = "active", Canceled = "canceled" }
}

text_enum! {
    /// Why a subscription ended (R7).
    CancelReason {
        Customer = "customer",
        Nonpayment = "nonpayment",
        UnacceptedPriceChange = "unaccepted_price_change",
        UnpaidSignup = "unpaid_signup",
        Operator = "operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_as_text() {
        for state in [
            SubscriptionState::Pending,
            SubscriptionState::Active,
            SubscriptionState::Canceled,
        ] {
            assert_eq!(SubscriptionState::parse(state.as_str()), Some(state));
        }
        assert_eq!(CancelReason::parse("unpaid_signup"), Some(CancelReason::UnpaidSignup));
        assert_eq!(CancelReason::parse("whatever"), None);
    }
}
