"""The provider framework: base classes (`base_provider`), typed chunks (`response`), the
sync/async bridge (`asyncio`) and message validation (`messages`)."""
