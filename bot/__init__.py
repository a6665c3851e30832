"""The Discord bot. The only package of Dateline that imports discord.

The bot is built by ``bot.client.create_bot``; its own tables live in ``bot.state``, its
settings slice in ``bot.settings`` (importing either does not load discord).
"""
