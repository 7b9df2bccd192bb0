//! The bytes of attached files, kept behind a Dapr output binding: a directory under
//! the data directory (`bindings.localstorage`, which `make run` and the tests set up)
//! or an S3-compatible bucket in a deployment (`bindings.aws.s3`, see
//! `deploy/k8s/dapr-attachments.yaml`). Both take the same three operations; each key
//! is sent under both components' metadata names (`fileName`, `key`).
//!
//! The bytes travel base64 encoded, and both components are asked to decode them
//! (`decodeBase64`; local storage always tries): stored, they are the file exactly,
//! whatever it holds. Every call has a deadline. The SDK's client cannot take an
//! answer past gRPC's 4 MiB default, so this one is generated tonic with a larger
//! limit.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use dapr::dapr::proto::runtime::v1::dapr_client::DaprClient;
use dapr::dapr::proto::runtime::v1::InvokeBindingRequest;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

/// Why a file could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// No file under that key.
    #[error("no stored file under {0}")]
    Missing(String),
    /// The binding could not be reached or answered with an error; the call may be
    /// tried again.
    #[error("{0}")]
    Unavailable(String),
}

/// Where attached files' bytes are kept.
#[async_trait::async_trait]
pub trait Files: Send + Sync {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), FilesError>;
    async fn get(&self, key: &str) -> Result<Vec<u8>, FilesError>;
    async fn delete(&self, key: &str) -> Result<(), FilesError>;
}

/// The largest answer taken from daprd: a file at its limit, with room to spare.
const MAX_ANSWER: usize = 2 * domain::MAX_ATTACHMENT_BYTES;

/// Files through daprd's output binding `binding`.
pub struct DaprFiles {
    client: DaprClient<Channel>,
    binding: String,
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
    timeout: Duration,
}

impl DaprFiles {
    /// `endpoint`: daprd's gRPC API (`http://127.0.0.1:50001`); connects when first
    /// used, so that a daprd still starting does not stop the server.
    pub fn connect(
        endpoint: &str,
        token: Option<&str>,
        binding: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| format!("daprd's address {endpoint}: {e}"))?
            .connect_timeout(timeout)
            .connect_lazy();
        let token = token
            .map(|t| {
                t.parse()
                    .map_err(|_| "the Dapr API token is not valid in a header".to_owned())
            })
            .transpose()?;
        Ok(Self {
            client: DaprClient::new(channel)
                .max_decoding_message_size(MAX_ANSWER)
                .max_encoding_message_size(MAX_ANSWER),
            binding: binding.to_owned(),
            token,
            timeout,
        })
    }

    async fn invoke(
        &self,
        operation: &str,
        key: &str,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, FilesError> {
        let metadata = HashMap::from([
            ("fileName".to_owned(), key.to_owned()),
            ("key".to_owned(), key.to_owned()),
            ("decodeBase64".to_owned(), "true".to_owned()),
        ]);
        let mut request = tonic::Request::new(InvokeBindingRequest {
            name: self.binding.clone(),
            data,
            metadata,
            operation: operation.to_owned(),
        });
        request.set_timeout(self.timeout);
        if let Some(token) = &self.token {
            request
                .metadata_mut()
                .insert("dapr-api-token", token.clone());
        }
        let mut client = self.client.clone();
        match tokio::time::timeout(self.timeout, client.invoke_binding(request)).await {
            Ok(Ok(answer)) => Ok(answer.into_inner().data),
            // Local storage says "file not found", S3 "NoSuchKey".
            Ok(Err(status))
                if status.message().contains("not found")
                    || status.message().contains("NoSuchKey") =>
            {
                Err(FilesError::Missing(key.to_owned()))
            }
            Ok(Err(status)) => Err(FilesError::Unavailable(format!(
                "binding {} ({operation}): {}",
                self.binding,
                status.message()
            ))),
            Err(_) => Err(FilesError::Unavailable(format!(
                "binding {} ({operation}): no answer from daprd in {:?}",
                self.binding, self.timeout
            ))),
        }
    }
}

#[async_trait::async_trait]
impl Files for DaprFiles {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), FilesError> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.invoke("create", key, encoded.into_bytes())
            .await
            .map(|_| ())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, FilesError> {
        self.invoke("get", key, Vec::new()).await
    }

    async fn delete(&self, key: &str) -> Result<(), FilesError> {
        self.invoke("delete", key, Vec::new()).await.map(|_| ())
    }
}

/// Files in memory (unit tests of the rules around them).
#[cfg(any(test, feature = "testing"))]
#[derive(Default)]
pub struct MemoryFiles(std::sync::Mutex<HashMap<String, Vec<u8>>>);

#[cfg(any(test, feature = "testing"))]
impl MemoryFiles {
    /// How many files are kept.
    pub fn len(&self) -> usize {
        self.0.lock().map(|files| files.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(any(test, feature = "testing"))]
#[async_trait::async_trait]
impl Files for MemoryFiles {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), FilesError> {
        self.0
            .lock()
            .map_err(|_| FilesError::Unavailable("poisoned".into()))?
            .insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, FilesError> {
        self.0
            .lock()
            .map_err(|_| FilesError::Unavailable("poisoned".into()))?
            .get(key)
            .cloned()
            .ok_or_else(|| FilesError::Missing(key.to_owned()))
    }

    async fn delete(&self, key: &str) -> Result<(), FilesError> {
        self.0
            .lock()
            .map_err(|_| FilesError::Unavailable("poisoned".into()))?
            .remove(key);
        Ok(())
    }
}
