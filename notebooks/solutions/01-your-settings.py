my_settings = {
    "ATLASSIAN_CLIENT_ID": "pinecone-reader-client-id",
    "ATLASSIAN_CLIENT_SECRET": "a-made-up-secret-for-the-exercise",
    "ATLASSIAN_REDIRECT_URI": "http://localhost:8765/callback",
}
kit.config.load(env_file=None, environ=my_settings)
