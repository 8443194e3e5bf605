"""The main job: run the paper's workflow on latents and write a report."""

from .workflow import ReportConfig, run_report

__all__ = ["ReportConfig", "run_report"]
