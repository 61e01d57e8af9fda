//! Errors that a client can see, each with its contract code (CONTRACT section 2), and the rest, which are 500s
//! whose cause is logged and never shown.

use axum::http::StatusCode;
use tollgate_domain::FieldError;
use tollgate_domain::validation::FieldErrorKind;
use tollgate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Field(FieldError),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("credentials are missing or wrong")]
    Unauthenticated,
    #[error("wrong e-mail address or password")]
    WrongCredentials,
    #[error("too many failed attempts; please wait a few minutes and try again")]
    RateLimited,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("an account with this e-mail address exists already")]
    EmailTaken,
    #[error("the clock cannot move backwards")]
    ClockMovedBackwards,
    #[error("no payment gateway is configured")]
    GatewayUnavailable,
    #[error("request body too large")]
    TooLarge,
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{0}")]
    License(LicenseError),
    #[error("the image has a product code already, and keeps it for good")]
    ImageAlreadyAttached,
    #[error("the product is not offered in that region, environment and instance type")]
    UnsupportedConfiguration,
    #[error("a call carries at most 1,000 usage records")]
    TooManyRecords,
    #[error("the timestamp must lie in this month or the previous one, and at most 5 minutes ahead")]
    TimestampOutOfWindow,
    #[error("the amount is more than the balance")]
    InsufficientBalance,
    #[error("the product has a pending price change already; withdraw it to schedule another")]
    PendingPriceChangeExists,
    #[error("the product has no pending price change")]
    NoPendingPriceChange,
    #[error("a passive price change needs at least 14 days' notice")]
    NoticeTooShort,
    #[error("a price change takes effect at 00:00:00 UTC of a future day")]
    InvalidEffectiveAt,
    #[error("{0}")]
    ReportNotReady(String),
    #[error("{0}")]
    NoReport(&'static str),
    /// Something else changed the same thing at the same moment (a charge under way); trying again resolves it.
    #[error("{0}; please try again")]
    Busy(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The license service's own refusals (CONTRACT section 5, reference 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    #[error("the activation key is malformed or unknown")]
    InvalidActivationKey,
    #[error("the activation key is more than an hour old; make a new one on the activation page")]
    ExpiredActivationKey,
    #[error("the activation key belongs to another product")]
    IncorrectActivationKey,
    #[error("the product token is not valid here")]
    InvalidProductToken,
    #[error("the user token is not valid")]
    InvalidUserToken,
    #[error("the persistent identifier is not valid for this seller")]
    InvalidPersistentIdentifier,
    #[error("the customer is not subscribed to the product")]
    UserNotSubscribed,
}

impl LicenseError {
    pub fn code(self) -> &'static str {
        match self {
            LicenseError::InvalidActivationKey => "InvalidActivationKey",
            LicenseError::ExpiredActivationKey => "ExpiredActivationKey",
            LicenseError::IncorrectActivationKey => "IncorrectActivationKey",
            LicenseError::InvalidProductToken => "InvalidProductToken",
            LicenseError::InvalidUserToken => "InvalidUserToken",
            LicenseError::InvalidPersistentIdentifier => "InvalidPersistentIdentifier",
            LicenseError::UserNotSubscribed => "UserNotSubscribed",
        }
    }
}

impl Error {
    pub fn field(path: &str, message: &str) -> Error {
        Error::Field(FieldError::new(path, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Field(_) | Error::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated | Error::WrongCredentials => StatusCode::UNAUTHORIZED,
            Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) | Error::NoPendingPriceChange | Error::ReportNotReady(_) | Error::NoReport(_) => {
                StatusCode::NOT_FOUND
            }
            Error::EmailTaken
            | Error::ClockMovedBackwards
            | Error::ImageAlreadyAttached
            | Error::Busy(_)
            | Error::PendingPriceChangeExists => StatusCode::CONFLICT,
            Error::UnsupportedConfiguration | Error::TooManyRecords | Error::TimestampOutOfWindow => {
                StatusCode::BAD_REQUEST
            }
            Error::GatewayUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::InsufficientBalance | Error::NoticeTooShort | Error::InvalidEffectiveAt => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::License(LicenseError::UserNotSubscribed) => StatusCode::FORBIDDEN,
            Error::License(_) => StatusCode::BAD_REQUEST,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::Field(e) => match e.kind {
                FieldErrorKind::Missing => "MissingParameter",
                FieldErrorKind::Invalid => "InvalidParameterValue",
                FieldErrorKind::UnknownDimension => "UnknownDimension",
            },
            Error::MalformedJson(_) => "InvalidParameterValue",
            Error::Unauthenticated | Error::WrongCredentials | Error::Forbidden(_) => "AccessDenied",
            Error::RateLimited => "RequestThrottled",
            Error::NotFound(_) => "NotFound",
            Error::EmailTaken => "EmailTaken",
            Error::ImageAlreadyAttached => "ImageAlreadyAttached",
            Error::Busy(_) => "Busy",
            Error::TooManyRecords => "TooManyRecords",
            Error::TimestampOutOfWindow => "TimestampOutOfWindow",
            Error::UnsupportedConfiguration => "UnsupportedConfiguration",
            Error::ClockMovedBackwards => "ClockMovedBackwards",
            Error::GatewayUnavailable => "PaymentGatewayUnavailable",
            Error::InsufficientBalance => "InsufficientBalance",
            Error::PendingPriceChangeExists => "PendingPriceChangeExists",
            Error::NoPendingPriceChange => "NoPendingPriceChange",
            Error::NoticeTooShort => "NoticeTooShort",
            Error::InvalidEffectiveAt => "InvalidEffectiveAt",
            Error::ReportNotReady(_) => "ReportNotReady",
            Error::NoReport(_) => "NoReport",
            Error::License(e) => e.code(),
            Error::TooLarge => "RequestTooLarge",
            Error::UnsupportedMediaType => "UnsupportedMediaType",
            Error::Internal(_) => "InternalError",
        }
    }

    /// What a person is told: everything but internal errors, whose details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "something went wrong on our side; please try again".into(),
            other => other.to_string(),
        }
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Field(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Internal(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
