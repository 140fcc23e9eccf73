"""Fake vendor servers on loopback, one module per vendor, built from its wire contract
(../shared/vendors.md and the vendor SDKs): real HTTP, real signatures, counted calls."""
