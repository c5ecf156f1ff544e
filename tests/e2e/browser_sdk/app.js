// The page's application code: initialises @sentry/browser on the DSN in ?dsn= and offers
// window.sendErrors(), which reports one failure twice (one issue), throws an uncaught error
// (caught by the SDK's global handler), sends a warning message and flushes; it resolves the
// ids of the events it captured itself.
import * as Sentry from '@sentry/browser';

const dsn = new URLSearchParams(window.location.search).get('dsn');
Sentry.init({ dsn, release: 'web@11.0.0', environment: 'staging' });

class PaymentDeclined extends Error {
  constructor(order) {
    super(`card declined for order ${order}`);
    this.name = 'PaymentDeclined';
  }
}

function charge(order) {
  throw new PaymentDeclined(order);
}

function applyCoupon(cart) {
  return cart.coupon.code;
}

window.sendErrors = async () => {
  const ids = [];
  for (const order of [17, 18]) {
    try {
      charge(order);
    } catch (e) {
      ids.push(Sentry.captureException(e));
    }
  }
  // an uncaught error, thrown from a timer like an event handler's would be
  await new Promise((resolve) => {
    setTimeout(() => {
      setTimeout(resolve, 0);
      applyCoupon({});
    }, 0);
  });
  ids.push(Sentry.captureMessage('inventory sync finished with warnings', 'warning'));
  if (!(await Sentry.flush(10000))) throw new Error('Sentry.flush timed out');
  return ids;
};
document.getElementById('state').textContent = 'ready';
