"""The console: pages for the people the service exists for, calling the services as the person signed in."""
