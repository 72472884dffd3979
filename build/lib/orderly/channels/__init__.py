"""Channels: shops (a connected account on a platform). Platform connectors arrive as plugins here."""
