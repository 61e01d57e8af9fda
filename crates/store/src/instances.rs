//! Machine images, their instances, and the instance hours they record into the usage records (R18).

use sqlx::FromRow;

use crate::usage::{UsageQueries, UsageRecord};
use crate::{Result, Store, StoreError, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct Image {
    pub image_id: String,
    pub product_id: String,
    pub attached_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct Instance {
    pub id: String,
    pub image_id: String,
    pub product_id: String,
    pub customer_id: String,
    pub subscription_id: String,
    pub region: String,
    pub environment: String,
    pub instance_type: String,
    pub launched_at: i64,
    pub terminated_at: Option<i64>,
    pub hours_recorded: i64,
    pub closed: bool,
}

/// An open instance with the instant its subscription ended, if it has.
#[derive(Debug, Clone, FromRow)]
pub struct OpenInstance {
    #[sqlx(flatten)]
    pub instance: Instance,
    pub canceled_at: Option<i64>,
}

/// One usage record to store.
impl Store {
    /// Attaches an image to a product; [`StoreError::Conflict`] when the image has a product already.
    pub async fn attach_image(&self, image: &Image) -> Result<()> {
        write!(self, |c| {
            sqlx::query("INSERT INTO images (image_id, product_id, attached_at) VALUES ($1, $2, $3)")
                .bind(&image.image_id)
                .bind(&image.product_id)
                .bind(image.attached_at)
                .execute(&mut *c)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    pub async fn image(&self, image_id: &str) -> Result<Option<Image>> {
        read!(self, |c| Ok(sqlx::query_as("SELECT * FROM images WHERE image_id = $1")
            .bind(image_id)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Records a launch with its first hour, which starts at once (R18).
    pub async fn launch_instance(&self, instance: &Instance, first_hour: &UsageRecord) -> Result<()> {
        let _one_writer = self.usage_guard().await;
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO instances (id, image_id, product_id, customer_id, subscription_id, region, environment,
                                        instance_type, launched_at, hours_recorded)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)",
            )
            .bind(&instance.id)
            .bind(&instance.image_id)
            .bind(&instance.product_id)
            .bind(&instance.customer_id)
            .bind(&instance.subscription_id)
            .bind(&instance.region)
            .bind(&instance.environment)
            .bind(&instance.instance_type)
            .bind(instance.launched_at)
            .execute(&mut *c)
            .await?;
            c.add_usage(std::slice::from_ref(first_hour), None).await?;
            Ok::<_, StoreError>(())
        })
    }

    pub async fn instance(&self, id: &str) -> Result<Option<Instance>> {
        read!(self, |c| Ok(sqlx::query_as("SELECT * FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Marks an instance terminated at `at`, once: a second call keeps the first instant.
    pub async fn terminate_instance(&self, id: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query("UPDATE instances SET terminated_at = $1 WHERE id = $2 AND terminated_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *c)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Instances that may still start hours, with their subscription's end.
    pub async fn open_instances(&self) -> Result<Vec<OpenInstance>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT i.*, s.canceled_at FROM instances i JOIN subscriptions s ON s.id = i.subscription_id
             WHERE i.closed = FALSE ORDER BY i.launched_at, i.id",
        )
        .fetch_all(&mut *c)
        .await?))
    }

    /// Records an instance's next hours and moves its counter, in one transaction; `close` marks it done. Hours
    /// recorded before (by a racing worker) are skipped by their unique ids.
    pub async fn record_instance_hours(
        &self,
        instance_id: &str,
        from: i64,
        hours: &[UsageRecord],
        close: bool,
    ) -> Result<()> {
        let _one_writer = self.usage_guard().await;
        write!(self, |c| {
            let claimed = sqlx::query(
                "UPDATE instances SET hours_recorded = $1, closed = $2 WHERE id = $3 AND hours_recorded = $4",
            )
            .bind(from + hours.len() as i64)
            .bind(close)
            .bind(instance_id)
            .bind(from)
            .execute(&mut *c)
            .await?;
            if claimed.rows_affected() == 1 {
                c.add_usage(hours, None).await?;
            }
            Ok::<_, StoreError>(())
        })
    }

    /// The customer's persistent identifier with a seller, if one was made.
    pub async fn pid_of(&self, customer_id: &str, seller_id: &str) -> Result<Option<String>> {
        read!(self, |c| {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT pid FROM persistent_identifiers WHERE customer_id = $1 AND seller_id = $2")
                    .bind(customer_id)
                    .bind(seller_id)
                    .fetch_optional(&mut *c)
                    .await?;
            Ok(row.map(|(pid,)| pid))
        })
    }
}
