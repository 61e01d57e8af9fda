//! The API describes itself (CONTRACT section 2): every JSON route is in the generated OpenAPI document.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, document) = json_of(app.api.get(app.url("/api/v1/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(document["servers"][0]["url"], "/api/v1");
    let routes = [
        ("/admin/sellers", "post"),
        ("/admin/dimensions/{name}", "put"),
        ("/admin/clock", "get"),
        ("/admin/clock", "post"),
        ("/admin/customers/{email}/bills", "get"),
        ("/admin/emails", "get"),
        ("/dimensions", "get"),
        ("/products", "get"),
        ("/products", "post"),
        ("/products/{code}", "get"),
        ("/products/{code}", "patch"),
        ("/products/{code}/price-changes", "post"),
        ("/products/{code}/price-changes/pending", "delete"),
        ("/seller/transactions", "get"),
        ("/seller/withdrawals", "post"),
        ("/seller/activity", "get"),
        ("/seller/reports/subscriptions", "get"),
        ("/seller/reports/revenue/{file}", "get"),
        ("/seller/reports/usage/{file}", "get"),
        ("/seller/transactions.csv", "get"),
        ("/images", "post"),
        ("/instances", "post"),
        ("/instances/{id}/terminate", "post"),
        ("/instances/{id}/confirm-product", "post"),
        ("/license/activate-desktop-product", "post"),
        ("/license/activate-hosted-product", "post"),
        ("/license/verify-product-subscription-by-pid", "post"),
        ("/license/verify-product-subscription-by-tokens", "post"),
        ("/license/get-active-subscriptions-by-pid", "post"),
        ("/license/refresh-user-token", "post"),
        ("/usage", "post"),
    ];
    for (path, method) in routes {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is described"
        );
    }
    let described: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(described, routes.len(), "and nothing else");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        (
            schemes["seller"]["scheme"].as_str(),
            schemes["derived_keys"]["scheme"].as_str()
        ),
        (Some("bearer"), Some("basic"))
    );
    assert_eq!(
        document["paths"]["/license/verify-product-subscription-by-pid"]["post"]["security"][0]["seller"],
        serde_json::json!([])
    );
    app.finish().await;
}
