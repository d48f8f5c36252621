//! A real llama-server (llama.cpp's own, built by scripts/build-llama-server.sh) running the
//! default model with 4 slots on a free local port, killed when dropped.
#![allow(dead_code)] // each test binary uses the part of the helper it needs

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

pub const SERVER_VERSION: &str = "0.3.36";

pub fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("RUBRICATE_LLAMA_SERVER") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
    cache
        .join("rubricate")
        .join(format!("llama-server-{SERVER_VERSION}"))
        .join("bin")
        .join("llama-server")
}

pub fn default_model() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".local/share")
        });
    data.join("rubricate/models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A llama-server child process, killed when dropped.
pub struct LlamaServer {
    child: Child,
    pub port: u16,
}

impl LlamaServer {
    pub fn start(api_key: Option<&str>) -> LlamaServer {
        Self::start_on(free_port(), api_key)
    }

    pub fn start_on(port: u16, api_key: Option<&str>) -> LlamaServer {
        let bin = server_binary();
        assert!(
            bin.exists(),
            "llama-server is missing at {}: run scripts/build-llama-server.sh (it builds llama.cpp's server into the cache), or set RUBRICATE_LLAMA_SERVER",
            bin.display()
        );
        let model = default_model();
        assert!(
            model.exists(),
            "the default model is missing: run scripts/fetch-model.sh"
        );
        let mut cmd = Proc::new(&bin);
        cmd.arg("-m")
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-np", "4", "-c", "16384", "-t", "2", "-tb", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(k) = api_key {
            cmd.args(["--api-key", k]);
        }
        let child = cmd.spawn().expect("start llama-server");
        let server = LlamaServer { child, port };
        server.wait_ready();
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ =
                    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut head = String::new();
                let _ = s.read_to_string(&mut head);
                if head.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("llama-server did not become ready on port {}", self.port);
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}
