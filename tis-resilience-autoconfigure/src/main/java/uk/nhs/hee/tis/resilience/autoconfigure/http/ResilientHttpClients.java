package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.client.BufferingClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.SimpleClientHttpRequestFactory;
import org.springframework.util.ReflectionUtils;
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
	 * Adds the guard to a builder bean the application made itself ({@code RestClient.builder()}, often
	 * {@code @LoadBalanced}) and, when it has no request factory of its own, gives it the application's,
	 * which applies each service's timeouts: Spring's default would send with no timeouts at all.
	 * @return whether the guard was added (false when the builder already had it)
	 */
	boolean protectBuilderBean(RestClient.Builder builder) {
		boolean added = addInterceptor(builder);
		ClientHttpRequestFactory application = this.requestFactory.getIfUnique();
		if (application instanceof ServiceClientHttpRequestFactory && hasNoRequestFactory(builder)) {
			builder.requestFactory(application);
		}
		return added;
	}

	// Spring's builder keeps null until a request factory is set, and picks its default only when building.
	private static boolean hasNoRequestFactory(RestClient.Builder builder) {
		java.lang.reflect.Field field = ReflectionUtils.findField(builder.getClass(), "requestFactory",
				ClientHttpRequestFactory.class);
		if (field == null) {
			return false;
		}
		ReflectionUtils.makeAccessible(field);
		return ReflectionUtils.getField(field, builder) == null;
	}

	/**
	 * Adds the guard to a template. A template still on Spring's default request factory, which has
	 * no timeouts at all, is moved to the application's request factory, which applies each
	 * service's timeouts, whatever interceptors it has.
	 * @return why the template's calls get no deadline, or null when they do
	 */
	@Nullable String addInterceptor(RestTemplate restTemplate) {
		List<ClientHttpRequestInterceptor> interceptors = restTemplate.getInterceptors();
		ClientHttpRequestFactory own = ownRequestFactory(restTemplate);
		String noDeadline = null;
		if (!(own instanceof ServiceClientHttpRequestFactory)) {
			ClientHttpRequestFactory application = this.requestFactory.getIfUnique();
			if (isUntouchedDefault(own) && application instanceof ServiceClientHttpRequestFactory) {
				restTemplate.setRequestFactory(application);
			}
			else if (own instanceof BufferingClientHttpRequestFactory buffering && buffersEverything(buffering)
					&& isUntouchedDefault(buffering.getDelegate())
					&& application instanceof ServiceClientHttpRequestFactory serviceFactory) {
				// new RestTemplate(new BufferingClientHttpRequestFactory(new SimpleClientHttpRequestFactory())):
				// the buffering stays, in the factory that applies each service's deadline (Spring's wrapper would
				// not pass the request's attributes on to it).
				restTemplate.setRequestFactory(serviceFactory.bufferingResponses());
			}
			else {
				noDeadline = "its request factory is a " + own.getClass().getSimpleName()
						+ ", which the starter cannot give each service's deadline";
			}
		}
		try {
			addFirst(interceptors);
		}
		catch (UnsupportedOperationException ex) {
			return "its interceptor list cannot be changed, so the starter cannot protect it at all";
		}
		return noDeadline;
	}

	/**
	 * Whether a buffering factory is Spring's own, not a subclass choosing what to buffer: the starter's
	 * factory then buffers in its place. (A predicate given to Spring's constructor cannot be told from its
	 * default one, which buffers everything: that case buffers everything.)
	 */
	private static boolean buffersEverything(BufferingClientHttpRequestFactory buffering) {
		return buffering.getClass() == BufferingClientHttpRequestFactory.class;
	}

	/**
	 * Whether a factory is Spring's default as a template creates it: a {@code SimpleClientHttpRequestFactory}
	 * with nothing set (no proxy, no timeouts, default chunking and streaming). One the application set
	 * up (a proxy, say) is kept, and named in the startup WARN instead: moving it would drop what it set.
	 * Compared field by field with a fresh one.
	 */
	private static boolean isUntouchedDefault(ClientHttpRequestFactory factory) {
		if (factory.getClass() != SimpleClientHttpRequestFactory.class) {
			return false;
		}
		SimpleClientHttpRequestFactory fresh = new SimpleClientHttpRequestFactory();
		boolean[] same = { true };
		ReflectionUtils.doWithFields(SimpleClientHttpRequestFactory.class, (field) -> {
			ReflectionUtils.makeAccessible(field);
			if (!java.util.Objects.equals(ReflectionUtils.getField(field, factory), ReflectionUtils.getField(field, fresh))) {
				same[0] = false;
			}
		}, (field) -> !java.lang.reflect.Modifier.isStatic(field.getModifiers()));
		return same[0];
	}

	// With interceptors, getRequestFactory() answers a wrapper around the template's own factory.
	private static ClientHttpRequestFactory ownRequestFactory(RestTemplate restTemplate) {
		List<ClientHttpRequestInterceptor> interceptors = restTemplate.getInterceptors();
		if (interceptors.isEmpty()) {
			return restTemplate.getRequestFactory();
		}
		List<ClientHttpRequestInterceptor> saved = new ArrayList<>(interceptors);
		try {
			interceptors.clear();
		}
		catch (UnsupportedOperationException ex) {
			// A template whose interceptor list cannot be changed: what it wraps cannot be seen.
			return restTemplate.getRequestFactory();
		}
		try {
			return restTemplate.getRequestFactory();
		}
		finally {
			interceptors.addAll(saved);
		}
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
