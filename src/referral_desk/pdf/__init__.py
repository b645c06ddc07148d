"""PDF rendering with ReportLab (letters and reports arrive with later issues)."""
