//! Boundary-only scanning of RESP values. (Stub: the resp helper completes this.)
