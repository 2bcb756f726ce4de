"""Tadrib: release, grade, report and publish an AI-training curriculum with nbgrader."""
