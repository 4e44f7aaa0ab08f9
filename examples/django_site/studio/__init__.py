"""The studio's booking pages: the catalog and booking form, the agreement, the client's page by signed link."""
