// The laptop default (`optline start`): a demo business whose WhatsApp number is this made-up id, signed
// with this made-up app secret, so `optline simulate` can talk to a fresh install without any Meta account.
// Neither value is a secret: a real deployment configures its own number and app secret.

export const SANDBOX_PHONE_NUMBER_ID = 'sandbox-phone-number';
export const SANDBOX_APP_SECRET = 'sandbox-app-secret';
