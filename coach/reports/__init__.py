"""Reports as files: charts (PNG) and spreadsheets (XLSX), no Telegram."""
