//! `borescope server`'s HTTP API, end to end: a real server on 127.0.0.1:0 over a real SQLite
//! file and over a real PostgreSQL (every test of `on_both!` runs on each), real HTTP requests;
//! `replicas`: several servers on one Postgres.

#![allow(missing_docs)]

#[macro_use]
mod common;
mod agent;
mod events;
mod exceptions;
mod lifecycle;
mod people;
mod replicas;
mod web;
