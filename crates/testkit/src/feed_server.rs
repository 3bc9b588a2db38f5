//! A real HTTP server on loopback that serves a folder, for release sources
//! reached over HTTP. It counts requests so tests can see what was fetched.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Serves the files of a folder at `http://127.0.0.1:<port>/<name>`.
pub struct FeedServer {
    server: Arc<tiny_http::Server>,
    pub url: String,
    requests: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FeedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedServer")
            .field("url", &self.url)
            .finish()
    }
}

impl FeedServer {
    /// Starts serving `dir`.
    pub fn start(dir: PathBuf) -> FeedServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let (srv, count) = (server.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                count.fetch_add(1, Ordering::SeqCst);
                let name = request.url().trim_start_matches('/').to_string();
                let path = dir.join(&name);
                let response = match std::fs::read(&path) {
                    Ok(bytes) if !name.contains("..") => {
                        tiny_http::Response::from_data(bytes).with_status_code(200)
                    }
                    _ => {
                        tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                    }
                };
                let _ = request.respond(response);
            }
        });
        FeedServer {
            server,
            url: format!("http://127.0.0.1:{port}"),
            requests,
            thread: Some(thread),
        }
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
