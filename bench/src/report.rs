//! The report: one row per scenario with its aim, Backchannel's figure, the
//! baseline's where there is one, and whether the aim was met; written as
//! `report.json` and `report.md` (the table the README reproduces), with
//! the machine it ran on.

use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub aim: String,
    /// Backchannel's figure, formatted with its unit.
    pub measured: String,
    /// The bare baseline's figure, where the scenario has one.
    pub baseline: Option<String>,
    /// Backchannel as a percentage of the baseline, where meaningful.
    pub percent_of_baseline: Option<f64>,
    /// `None` when the scenario could not run (see `note`).
    pub met: Option<bool>,
    pub note: Option<String>,
    /// Raw figures for the JSON report.
    pub detail: serde_json::Value,
}

/// The machine a report ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpu,
            // The machine's cores, not the ones this (pinned) process may use.
            cores: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count()
                .max(1),
            memory_gib: (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".into()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub date: String,
    pub quick: bool,
    pub machine: Machine,
    pub rows: Vec<Row>,
}

impl Report {
    /// The markdown table with a line about the machine.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Measured {} on {} ({} cores, {} GiB, Linux {}){}.\n",
            self.date,
            m.cpu,
            m.cores,
            m.memory_gib,
            m.kernel,
            if self.quick {
                ", quick run (smaller sizes)"
            } else {
                ""
            }
        );
        out.push_str("| scenario | aim | Backchannel | bare baseline | % of baseline | met |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.scenario,
                row.aim,
                row.measured,
                row.baseline.as_deref().unwrap_or("—"),
                row.percent_of_baseline
                    .map_or("—".into(), |p| format!("{p:.0}%")),
                match row.met {
                    Some(true) => "yes".to_owned(),
                    Some(false) => "**no**".to_owned(),
                    None => format!("not run: {}", row.note.as_deref().unwrap_or("")),
                }
            );
        }
        out
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }
}
