//! `borescope server`'s HTTP API, end to end: a real server on 127.0.0.1:0 over a real SQLite
//! file, real HTTP requests.

#![allow(missing_docs)]

mod agent;
mod common;
mod events;
mod lifecycle;
mod people;
mod web;
