//! Block classification of cells (multiplier, compensation, accumulator,
//! requantizer, control) by the data-driven rules of `data/blocks.toml`.

use super::DEFAULT_BLOCKS;
use crate::util::usage;
use anyhow::Result;
use serde::Deserialize;

/// Block classification rules (`data/blocks.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct BlockRules {
    /// Block of gates matching no rule (and of the top's own gates).
    pub fallback: String,
    /// Ordered rules; the first match wins.
    #[serde(default)]
    pub rule: Vec<BlockRule>,
}

/// One classification rule.
#[derive(Debug, Clone, Deserialize)]
pub struct BlockRule {
    /// Substring of the module name (after the `<top>_` prefix), case-insensitive.
    pub contains: String,
    /// Block name.
    pub block: String,
}

impl BlockRules {
    /// Parses rules; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<BlockRules> {
        toml::from_str(text).map_err(|e| usage(format!("{origin}: {e}")))
    }
    /// The default rules.
    pub fn default_rules() -> Result<BlockRules> {
        BlockRules::parse(DEFAULT_BLOCKS, "data/blocks.toml (built in)")
    }
    /// Block of a child module of `top`.
    pub fn classify(&self, top: &str, module: &str) -> String {
        let prefix = format!("{top}_");
        let name = module
            .strip_prefix(&prefix)
            .unwrap_or(module)
            .to_lowercase();
        for r in &self.rule {
            if name.contains(&r.contains.to_lowercase()) {
                return r.block.clone();
            }
        }
        self.fallback.clone()
    }
}
