# Sends one exception and one message to the DSN in ARGV[0] with the sentry-raven gem (the
# legacy Ruby client, Debian's ruby-sentry-raven), default settings: synchronous (async is off
# by default) and encoding 'gzip', i.e. base64(zlib(JSON)) bodies on /store/.
require 'raven'

abort 'usage: send.rb DSN' unless ARGV.length == 1
Raven.configure do |config|
  config.dsn = ARGV[0]
  config.logger = Logger.new($stderr)
end

def parse_config(name)
  raise ArgumentError, "raven-ruby legacy failure: cannot parse #{name}"
end

begin
  parse_config('app.yml')
rescue ArgumentError => e
  Raven.capture_exception(e, tags: { sdk: 'raven-ruby' }) or abort 'exception not sent'
end
Raven.capture_message('raven-ruby legacy message', tags: { sdk: 'raven-ruby' }) or
  abort 'message not sent'
