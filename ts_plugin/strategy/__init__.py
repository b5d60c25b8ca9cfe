"""The strategy side of the plugin: what runs inside freqtrade's strategy object."""
