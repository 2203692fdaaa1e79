package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.List;

import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

/**
 * Puts the guard interceptor (first in the chain, once) and the per-service request factory on
 * Spring's HTTP clients.
 */
final class ResilientHttpClients {

	private final ResilientClientHttpRequestInterceptor interceptor;

	private final ServiceClientHttpRequestFactory requestFactory;

	ResilientHttpClients(ResilientClientHttpRequestInterceptor interceptor,
			ServiceClientHttpRequestFactory requestFactory) {
		this.interceptor = interceptor;
		this.requestFactory = requestFactory;
	}

	/** Protects a builder: our request factory, unless the user sets another later, and the guard. */
	void protect(RestClient.Builder builder) {
		builder.requestFactory(this.requestFactory);
		addInterceptor(builder);
	}

	/** Protects a builder a user made without Boot's: the guard only, keeping its request factory. */
	boolean addInterceptor(RestClient.Builder builder) {
		boolean[] added = new boolean[1];
		builder.requestInterceptors((interceptors) -> added[0] = addFirst(interceptors));
		return added[0];
	}

	void protect(RestTemplate restTemplate) {
		restTemplate.setRequestFactory(this.requestFactory);
		addFirst(restTemplate.getInterceptors());
	}

	/** Protects a template a user made without Boot's builder: the guard only. */
	void addInterceptor(RestTemplate restTemplate) {
		List<ClientHttpRequestInterceptor> interceptors = restTemplate.getInterceptors();
		if (!interceptors.contains(this.interceptor)) {
			ClientHttpRequestFactory current = restTemplate.getRequestFactory();
			addFirst(interceptors);
			if (current.getClass() == org.springframework.http.client.SimpleClientHttpRequestFactory.class) {
				// Spring's default has no timeouts at all: give it the service's.
				restTemplate.setRequestFactory(this.requestFactory);
			}
		}
	}

	private boolean addFirst(List<ClientHttpRequestInterceptor> interceptors) {
		if (interceptors.contains(this.interceptor)) {
			return false;
		}
		interceptors.add(0, this.interceptor);
		return true;
	}

}
