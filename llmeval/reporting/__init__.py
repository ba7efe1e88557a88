"""Reporting: the results file, the HTML report, model comparison and exports."""
