"""triwarn.share: sharing between nations over NATS JetStream (see docs/sharing.md).

schema (wire messages), signing (Ed25519, canonical encoding, keys, trust store), policy (network.yaml
and the release policy), sender / admission (the pure sending and receiving cores), netconfig (server
configs and stream plan), servers (local nats-servers), resync (fast source recovery), transport (the
asyncio edge a national node uses), flowcheck (what the brokers actually let through).
"""
