"""HTTP server core shared by the sandbox flavours: routing, faults, TLS, inspection."""
