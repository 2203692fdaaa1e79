/**
 * Service-to-service tokens: client-credentials registrations whose tokens outlive an outage of
 * the token issuer, sent to the services that name them.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.token;

import org.jspecify.annotations.NullMarked;
