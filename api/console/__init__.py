"""The server-rendered console: Jinja2 templates, static CSS/JS and the vendored ECharts."""
