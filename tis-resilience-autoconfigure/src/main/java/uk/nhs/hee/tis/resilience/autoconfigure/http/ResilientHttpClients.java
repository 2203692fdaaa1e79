package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.List;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.SimpleClientHttpRequestFactory;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

/**
 * Puts the guard interceptor on Spring's HTTP clients: first in the chain, and once.
 */
final class ResilientHttpClients {

	private final ResilientClientHttpRequestInterceptor interceptor;

	private final ObjectProvider<ClientHttpRequestFactory> requestFactory;

	ResilientHttpClients(ResilientClientHttpRequestInterceptor interceptor,
			ObjectProvider<ClientHttpRequestFactory> requestFactory) {
		this.interceptor = interceptor;
		this.requestFactory = requestFactory;
	}

	/**
	 * Adds the guard to a builder.
	 * @return whether it was added (false when the builder already had it)
	 */
	boolean addInterceptor(RestClient.Builder builder) {
		boolean[] added = new boolean[1];
		builder.requestInterceptors((interceptors) -> added[0] = addFirst(interceptors));
		return added[0];
	}

	/**
	 * Adds the guard to a template. A template still on Spring's default request factory, which has
	 * no timeouts at all, is moved to the application's request factory, which applies each
	 * service's timeouts.
	 */
	void addInterceptor(RestTemplate restTemplate) {
		List<ClientHttpRequestInterceptor> interceptors = restTemplate.getInterceptors();
		if (interceptors.isEmpty() && restTemplate.getRequestFactory().getClass() == SimpleClientHttpRequestFactory.class) {
			this.requestFactory.ifAvailable(restTemplate::setRequestFactory);
		}
		addFirst(interceptors);
	}

	private boolean addFirst(List<ClientHttpRequestInterceptor> interceptors) {
		if (interceptors.stream().anyMatch(ResilientClientHttpRequestInterceptor.class::isInstance)) {
			return false;
		}
		// One per client: each learns whether its own request factory is the starter's.
		interceptors.add(0, this.interceptor.forClient());
		return true;
	}

}
