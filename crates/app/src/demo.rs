//! The demo (`serve --demo`): a seller with products and a customer with a card, loaded idempotently, so that the
//! whole pipeline can be tried in a browser at once.

use serde_json::json;
use tollgate_domain::card::CardDetails;
use tollgate_store::accounts::Account;
use tollgate_store::sellers::Seller;

use crate::error::Error;
use crate::services::accounts::{SignUp, sign_up};
use crate::services::products::ProductView;
use crate::services::sellers::{self, SellerProfile};
use crate::services::{payments, products};
use crate::state::AppState;

pub const SELLER_EMAIL: &str = "seller@demo.example";
pub const SELLER_PASSWORD: &str = "demo-seller";
pub const CUSTOMER_EMAIL: &str = "customer@demo.example";
pub const CUSTOMER_PASSWORD: &str = "demo-customer";

/// What the demo prints after start-up.
pub struct DemoGuide {
    pub api_key: String,
    pub products: Vec<(String, String)>,
}

async fn account(state: &AppState, email: &str, password: &str, name: &str) -> anyhow::Result<Account> {
    if let Some(existing) = state.store.account_by_email(email).await? {
        return Ok(existing);
    }
    Ok(sign_up(state, &SignUp { email, password, name }).await?)
}

pub async fn load(state: &AppState) -> anyhow::Result<DemoGuide> {
    let seller_account = account(state, SELLER_EMAIL, SELLER_PASSWORD, "Dana Seller").await?;
    let seller: Seller = match state.store.seller_of_account(&seller_account.id).await? {
        Some(seller) => seller,
        None => {
            let profile = SellerProfile::parse("Demo Software Ltd", "help@demo.example")?;
            sellers::become_seller(state, &seller_account, profile).await?
        }
    };
    // Keys are stored hashed, so the demo makes a fresh one each start and retires the previous ones.
    for key in state.store.api_keys(&seller.id).await? {
        if key.label == "demo" && key.revoked_at.is_none() {
            sellers::revoke_api_key(state, &seller, &key.id).await?;
        }
    }
    let api_key = sellers::create_api_key(state, &seller, "demo").await?.plain;

    let mut listed = products::list(state, &seller).await?;
    if listed.is_empty() {
        for body in demo_products() {
            listed.push(products::register(state, &seller, &body).await?);
        }
    }

    let customer = account(state, CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "Casey Customer").await?;
    if state.store.payment_method(&customer.id).await?.is_none() {
        let now = state.now().await?;
        let year = (now.format("%Y").to_string().parse::<i32>().unwrap_or(2030) + 3).to_string();
        let card = CardDetails::parse("4242424242424242", "12", &year, "123", now).map_err(Error::from)?;
        payments::add_card(state, &customer, &card).await?;
    }
    Ok(DemoGuide {
        api_key,
        products: listed
            .into_iter()
            .map(|v: ProductView| (v.product.name, v.purchase_url))
            .collect(),
    })
}

fn demo_products() -> Vec<serde_json::Value> {
    vec![
        json!({
            "name": "Backup Pro",
            "description": "Encrypted backups for your laptop.",
            "kind": "desktop",
            "redirect_url": "https://example.com/welcome",
            "terms_url": null,
            "support_contact": "help@demo.example",
            "pricing": {
                "signup_fee": "5.00",
                "monthly_fee": "10.00",
                "usage": [
                    {"dimension": "storage.gb_month", "tiers": [{"up_to": "10", "unit_price": "0.25"}, {"up_to": null, "unit_price": "0.20"}]},
                    {"dimension": "custom.exports", "tiers": [{"up_to": null, "unit_price": "0.05"}]}
                ]
            },
            "configurations": []
        }),
        json!({
            "name": "Photo Lab",
            "description": "Edit and share photos in the browser. Free while in beta.",
            "kind": "hosted",
            "redirect_url": "https://example.com/photolab",
            "pricing": {"signup_fee": "0.00", "monthly_fee": "0.00", "usage": []}
        }),
    ]
}

pub fn print(state: &AppState, guide: &DemoGuide) {
    let url = |path: &str| state.settings.url(path);
    println!("Demo loaded (sandbox: test card 4242 4242 4242 4242 pays, 4000 0000 0000 0341 is declined).");
    println!("  customer: {CUSTOMER_EMAIL} / {CUSTOMER_PASSWORD}");
    println!(
        "  seller:   {SELLER_EMAIL} / {SELLER_PASSWORD}, console {}",
        url("/seller")
    );
    println!("  seller API key: {}", guide.api_key);
    for (name, purchase_url) in &guide.products {
        println!("  buy {name}: {purchase_url}");
    }
    println!("  e-mails: {}", url("/dev/mailbox"));
    if state.settings.operator_token.is_none() {
        println!("  operator API: off (set TOLLGATE_OPERATOR_TOKEN to use it)");
    }
}
