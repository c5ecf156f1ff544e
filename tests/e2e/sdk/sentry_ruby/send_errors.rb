# A tiny script using Debian's sentry-ruby (ruby-sentry-ruby, 5.3), run by
# tests/e2e/test_sdk_current.py with /usr/bin/ruby. It reports the same failure twice (one
# issue), another failure and a message to the DSN in SLUICE_DSN and prints each event id as a
# JSON line. No background worker threads: every event is sent before capture_* returns.
require "json"
require "logger"
require "sentry-ruby"

Sentry.init do |config|
  config.dsn = ENV.fetch("SLUICE_DSN")
  config.release = "shop@3.0.0"
  config.environment = "staging"
  # frames in this folder are the application's (in_app)
  config.project_root = File.dirname(__dir__)
  config.app_dirs_pattern = /sentry_ruby/
  config.background_worker_threads = 0
  config.send_client_reports = false
  config.logger = Logger.new($stderr)
end

class PaymentDeclined < StandardError; end

def charge(order)
  raise PaymentDeclined, "card declined for order #{order}"
end

def out(event)
  abort("event dropped by the SDK") unless event
  puts JSON.generate(event.event_id)
  $stdout.flush
end

[17, 18].each do |order|
  begin
    charge(order)
  rescue PaymentDeclined => e
    out(Sentry.capture_exception(e))
  end
end
begin
  {}.fetch(:sku)
rescue KeyError => e
  out(Sentry.capture_exception(e))
end
out(Sentry.capture_message("inventory sync finished with warnings", level: :warning))
