//! `rdpbench reproduce rdp`: R1-R3 of CONDITIONS.md §5 as JSON + CSV curves.

use super::plugins::{out, report_errors};
use super::progress::{Bar, Counts};
use super::results;
use anyhow::Result;
use rdpbench_runner::reproduce::run;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::Exit;
use rdpbench_store::{Stage, Store};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum ReproduceCommand {
    /// R1-R3: restricted vs unrestricted rate-distortion curves with the
    /// analytic rate tax, and P_gt vs co-occurrence at fixed k.
    Rdp {
        /// Output folder (default: [output].dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Optimiser steps per trained SAE (default 1500).
        #[arg(long)]
        steps: Option<u64>,
        /// Seeds for R2 (default 0,1).
        #[arg(long, value_delimiter = ',')]
        seeds: Vec<u64>,
        /// Exit 4 unless every claim holds.
        #[arg(long)]
        strict: bool,
    },
}

/// `rdpbench reproduce rdp`: the rdp stage in the results folder.
pub fn reproduce(config: Config, cmd: ReproduceCommand) -> Result<Exit> {
    let ReproduceCommand::Rdp { out: dir, .. } = &cmd;
    let mut store = results::open(&results::results_dir(dir.clone(), &config))?;
    reproduce_in(&mut store, config, cmd)
}

/// The rdp stage into an open store.
pub fn reproduce_in(store: &mut Store, config: Config, cmd: ReproduceCommand) -> Result<Exit> {
    let ReproduceCommand::Rdp {
        out: _,
        steps,
        seeds,
        strict,
    } = cmd;
    let mut s = config.reproduce.clone();
    if s.toy == rdpbench_core::toy::ToyConfig::default() {
        s.toy = config.toy.clone();
    }
    if let Some(st) = steps {
        s.steps = st;
    }
    if !seeds.is_empty() {
        s.seeds = seeds;
    }
    let plugins = super::setup::discover(&config);
    super::setup::end_on_hang(&plugins)?;
    let mut exit = report_errors(&plugins);
    let mut p = Bar::new(Counts::Units);
    let started = std::time::Instant::now();
    let dir = store.root().to_path_buf();
    let report = results::stage(store, Stage::Rdp, |w| {
        let report = run(&plugins, &s, &mut p)?;
        results::write_all(w, &report, &rdpbench_reports::rdp::exporters())?;
        Ok(report)
    })?;
    p.finish();
    let mut text = String::new();
    for c in &report.claims {
        text.push_str(&format!(
            "{} {}: {}\n",
            c.id,
            if c.holds { "holds" } else { "DOES NOT HOLD" },
            c.evidence
        ));
    }
    out(&text)?;
    eprintln!(
        "wrote rdp.json, rdp_curves.csv, rdp_pgt_vs_q.csv to {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    if strict && report.claims.iter().any(|c| !c.holds) && exit == Exit::Ok {
        exit = Exit::ConditionsFailed;
    }
    Ok(exit)
}
