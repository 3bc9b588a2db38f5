//! The library's one error type.
//!
//! Every error says what went wrong and where (the message), what the
//! operator can do about it (the hint), and which class it is in, because the
//! class decides the exit code the CLI returns:
//!
//! - [`ErrorKind::Input`]: bad usage or bad input (instance file, release,
//!   versions, disk space). Raised before anything changed: exit 2.
//! - [`ErrorKind::Busy`]: another run holds the instance: exit 2.
//! - [`ErrorKind::Failed`]: something failed while acting on the instance.
//! - [`ErrorKind::Unreachable`]: a node did not answer over SSH; a run stops
//!   for `resume` instead of rolling back half a cluster.
//!
//! Messages never carry secret values: callers build them from names and
//! paths, never from the contents of a secret.

/// The class of an error; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad usage or bad input; nothing was changed.
    Input,
    /// Another upshift holds this instance's lock.
    Busy,
    /// An operation on the instance failed.
    Failed,
    /// A node of the cluster could not be reached: the run stops where it
    /// is, for `resume` once the node is back.
    Unreachable,
}

impl ErrorKind {
    /// The exit code of a command that ends with this error outside a run's
    /// own accounting: 2 for bad input or a busy instance (nothing changed),
    /// 3 otherwise (someone should look).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Input | ErrorKind::Busy => 2,
            ErrorKind::Failed | ErrorKind::Unreachable => 3,
        }
    }
}

/// An error with a message, an optional hint and an optional cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// Bad input: nothing was changed.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message)
    }

    /// Another run holds the instance.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Busy, message)
    }

    /// An operation on the instance failed.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// A node could not be reached.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unreachable, message)
    }

    /// Adds what the operator can do next.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the underlying cause.
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Turns this error into bad input (for checks that run before any change).
    pub fn into_input(mut self) -> Self {
        self.kind = ErrorKind::Input;
        self
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What the operator can do next, if known.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The message with every cause, joined by ": ", scrubbed of every
    /// secret value this process has read.
    pub fn chain(&self) -> String {
        let mut text = self.message.clone();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        crate::support::redact::redact(&text)
    }
}

/// Adds context to results from other libraries.
pub trait Context<T> {
    /// On error, a [`ErrorKind::Failed`] error with this message and the cause.
    fn context(self, message: impl FnOnce() -> String) -> Result<T>;
    /// On error, an [`ErrorKind::Input`] error with this message and the cause.
    fn input_context(self, message: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, message: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::failed(message()).caused_by(e))
    }

    fn input_context(self, message: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::input(message()).caused_by(e))
    }
}
