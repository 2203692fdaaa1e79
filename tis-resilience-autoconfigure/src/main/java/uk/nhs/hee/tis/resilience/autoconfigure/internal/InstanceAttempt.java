package uk.nhs.hee.tis.resilience.autoconfigure.internal;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * One attempt of a protected request, as far as a load balancer is concerned: which instance it chose
 * (told by the starter's load-balancer request transformer) and which instances the request already
 * failed on, so that it goes elsewhere. It travels in the request's attributes, which the load balancer
 * keeps; the instances to avoid travel in a header, because Spring Cloud LoadBalancer hands its instance
 * supplier a blocking request's headers but not its attributes. The transformer removes the header, so
 * it never reaches an instance.
 *
 * @since 0.3.0
 */
public final class InstanceAttempt {

	/** The request attribute it travels under. */
	public static final String ATTRIBUTE = InstanceAttempt.class.getName();

	/** The header naming the instances ({@code host:port}, comma-separated) the request should not go to. */
	public static final String AVOID_HEADER = "X-Tis-Resilience-Avoid-Instances";

	private volatile @Nullable String serviceId;

	private volatile @Nullable String instance;

	private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

	/**
	 * Records the instance the load balancer chose for this attempt.
	 * @param serviceId the load balancer's service id (the logical URL's host)
	 * @param instance the instance's key, {@code host:port}
	 */
	public void chosen(String serviceId, String instance) {
		this.serviceId = serviceId;
		this.instance = instance;
	}

	/**
	 * Marks the attempt over for its instance's count of outstanding attempts; only the first call counts.
	 * @return whether this call released it
	 */
	boolean release() {
		return this.instance != null && this.released.compareAndSet(false, true);
	}

	/**
	 * Returns the load balancer's service id, or null when no load balancer chose an instance.
	 * @return the service id
	 */
	public @Nullable String serviceId() {
		return this.serviceId;
	}

	/**
	 * Returns the chosen instance's key, or null when no load balancer chose one.
	 * @return {@code host:port}
	 */
	public @Nullable String instance() {
		return this.instance;
	}

	/**
	 * The key of an instance.
	 * @param host its host
	 * @param port its port
	 * @return {@code host:port}
	 */
	public static String key(String host, int port) {
		return host + ":" + port;
	}

	/**
	 * The value of {@link #AVOID_HEADER} for instances, or null for none.
	 * @param instances the instances' keys
	 * @return the header value
	 */
	public static @Nullable String avoidHeader(Collection<String> instances) {
		return instances.isEmpty() ? null : String.join(",", instances);
	}

	/**
	 * The instances named by a value of {@link #AVOID_HEADER}.
	 * @param header the header's value, or null
	 * @return the instances' keys
	 */
	public static Set<String> avoided(@Nullable String header) {
		if (header == null || header.isBlank()) {
			return Set.of();
		}
		Set<String> keys = new LinkedHashSet<>();
		for (String key : header.split(",")) {
			if (!key.isBlank()) {
				keys.add(key.trim());
			}
		}
		return keys;
	}

}
