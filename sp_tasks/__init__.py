"""sp-tasks: GitOps CI/CD for MongoDB Atlas Stream Processing. Importing it has no side effects."""

__version__ = "0.1.0"
