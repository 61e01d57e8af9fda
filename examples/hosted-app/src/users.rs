//! Photo Lab's own users, kept in a JSON file. Tollgate's persistent identifier (PID) names the customer, so a
//! customer who comes back through another activation key finds the same user.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Photo Lab's id, the value of the sign-in cookie: random, so that it cannot be guessed.
    pub id: String,
    pub pid: String,
    /// Names the customer's subscription to this product in Tollgate's other APIs.
    pub user_token: String,
}

pub struct Users {
    path: PathBuf,
    users: Mutex<Vec<User>>,
}

impl Users {
    pub fn open(path: PathBuf) -> anyhow::Result<Users> {
        let users = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Users {
            path,
            users: Mutex::new(users),
        })
    }

    pub fn by_id(&self, id: &str) -> Option<User> {
        self.lock().iter().find(|u| u.id == id).cloned()
    }

    /// The user with this PID, made the first time the customer comes; the user token is kept up to date.
    pub fn sign_in(&self, pid: &str, user_token: &str) -> anyhow::Result<User> {
        let mut users = self.lock();
        let user = match users.iter_mut().find(|u| u.pid == pid) {
            Some(user) => {
                user.user_token = user_token.to_owned();
                user.clone()
            }
            None => {
                let user = User {
                    id: format!("{:032x}", rand::random::<u128>()),
                    pid: pid.to_owned(),
                    user_token: user_token.to_owned(),
                };
                users.push(user.clone());
                user
            }
        };
        // Written under the lock, so that two sign-ins never overwrite each other's user.
        let partial = self.path.with_extension("json.partial");
        std::fs::write(&partial, serde_json::to_string_pretty(&*users)?)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &self.path).with_context(|| format!("writing {}", self.path.display()))?;
        Ok(user)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<User>> {
        self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
