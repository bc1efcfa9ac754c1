//! Every `*.json` result file: the result itself, pretty-printed, with a
//! trailing newline. One exporter for every result type.

use crate::Exporter;
use rdpbench_store::ResultFile;
use serde::Serialize;

/// Writes a result as JSON into `file`.
#[derive(Debug, Clone, Copy)]
pub struct Json(pub ResultFile);

impl<R: Serialize> Exporter<R> for Json {
    fn format(&self) -> &'static str {
        "json"
    }
    fn file(&self) -> Option<ResultFile> {
        Some(self.0)
    }
    fn render(&self, run: &R) -> anyhow::Result<String> {
        let mut s = serde_json::to_string_pretty(run)?;
        s.push('\n');
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_pretty_json_with_a_trailing_newline() {
        let v = serde_json::json!({"a": [1, 2]});
        let s = Exporter::render(&Json(ResultFile::CheckJson), &v).unwrap();
        assert_eq!(s, "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
    }
}
