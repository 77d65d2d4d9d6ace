"""hub_upload.cli.upload."""
