"""The pages people use (templates and static files): the driver page, the handheld, the bureau dashboard."""
