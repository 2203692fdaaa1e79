package uk.nhs.hee.tis.resilience.autoconfigure.token;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;

/**
 * Gives the bearer token the starter sends with each protected call to a service. The starter's own
 * provides client-credentials tokens for services with {@code client-registration}; define a bean
 * of this type to supply tokens another way.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface ServiceTokenProvider {

	/**
	 * Returns the token to send to a service.
	 * @param service the service name
	 * @return the token, or {@code null} when calls to the service carry none
	 * @throws ServiceUnavailableException when the service needs a token and none can be had
	 */
	@Nullable String tokenFor(String service);

}
