"""From analysis results to documents: formatting, context, figures, templates, engines, artefacts."""
