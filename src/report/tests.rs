//! The report step: figures computed once, from a hand-checked state.

mod health;
