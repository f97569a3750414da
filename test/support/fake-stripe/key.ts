/** The secret key the fake Stripe accepts unless told otherwise. */
export const FAKE_STRIPE_KEY = 'sk_test_tollgate_fake';
