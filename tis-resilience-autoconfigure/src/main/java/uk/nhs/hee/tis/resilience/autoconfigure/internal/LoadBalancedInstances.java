package uk.nhs.hee.tis.resilience.autoconfigure.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.policy.OutlierDetector;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy;

/**
 * The instances of every load-balanced service, by the load balancer's service id: one
 * {@link OutlierDetector} each. The protected clients tell it how each attempt on an instance ended; the
 * starter's instance supplier asks it which instances are in rotation.
 *
 * @since 0.3.0
 */
public final class LoadBalancedInstances {

	private final Map<String, OutlierDetector> detectors = new ConcurrentHashMap<>();

	private final Function<String, ServicePolicy> policies;

	/** Checks, off any caller's thread, that an instance whose ejection is over can be connected to. */
	private static final Executor REACHABILITY_CHECKS = Executors.newFixedThreadPool(2, (task) -> {
		Thread thread = new Thread(task, "tis-resilience-instance-check");
		thread.setDaemon(true);
		return thread;
	});

	private final OutlierDetector.Listener listener;

	private final Consumer<OutlierDetector> created;

	/**
	 * Creates the registry.
	 * @param policies the policy (outlier ejection, connect timeout) for a service id
	 * @param listener told of every ejection and return
	 * @param created told of every detector made (to register its meters)
	 */
	public LoadBalancedInstances(Function<String, ServicePolicy> policies, OutlierDetector.Listener listener,
			Consumer<OutlierDetector> created) {
		this.policies = policies;
		this.listener = listener;
		this.created = created;
	}

	/**
	 * Returns the detector of a service, created on first use.
	 * @param serviceId the load balancer's service id
	 * @return the detector
	 */
	public OutlierDetector detector(String serviceId) {
		OutlierDetector detector = this.detectors.get(serviceId);
		if (detector != null) {
			return detector;
		}
		boolean[] made = new boolean[1];
		detector = this.detectors.computeIfAbsent(serviceId, (id) -> {
			made[0] = true;
			ServicePolicy policy = this.policies.apply(id);
			return new OutlierDetector(id, policy.outlierEjection(), this.listener,
					(instance) -> reachable(instance, policy.connectTimeout()));
		});
		if (made[0]) {
			this.created.accept(detector);
		}
		return detector;
	}

	// A connection opened within the service's connect timeout: a killed or cut-off instance fails this, and is
	// ejected again without a caller's request being the probe. A hanging one passes; its first call decides.
	private static CompletableFuture<Boolean> reachable(String instance, Duration connectTimeout) {
		int colon = instance.lastIndexOf(':');
		String host = instance.substring(0, colon);
		int port = Integer.parseInt(instance.substring(colon + 1));
		return CompletableFuture.supplyAsync(() -> {
			try (Socket socket = new Socket()) {
				socket.connect(new InetSocketAddress(host, port), (int) Math.max(1, connectTimeout.toMillis()));
				return true;
			}
			catch (IOException | RuntimeException ex) {
				return false;
			}
		}, REACHABILITY_CHECKS);
	}

	/**
	 * Returns every detector made so far, by service id.
	 * @return the detectors
	 */
	public Map<String, OutlierDetector> detectors() {
		return Map.copyOf(this.detectors);
	}

	/** The most failovers one request makes, whatever discovery says: a bound, should lists keep changing. */
	static final int MAX_FAILOVERS = 8;

	/**
	 * Records the instance a load balancer chose for an attempt, which is then outstanding on it until the
	 * attempt ends or is released.
	 * @param attempt the attempt
	 * @param serviceId the load balancer's service id
	 * @param instance the instance's key
	 */
	public void chosen(InstanceAttempt attempt, String serviceId, String instance) {
		attempt.chosen(serviceId, instance);
		detector(serviceId).started(instance);
	}

	/**
	 * Ends an attempt without an outcome (cancelled, or its outcome already recorded): its instance no longer
	 * counts it as outstanding. Only the first release of an attempt counts.
	 * @param attempt the attempt
	 */
	public void release(InstanceAttempt attempt) {
		String serviceId = attempt.serviceId();
		String instance = attempt.instance();
		if (serviceId != null && instance != null && attempt.release()) {
			detector(serviceId).released(instance);
		}
	}

	/**
	 * Records how an attempt ended on the instance a load balancer chose for it, and releases it; nothing when
	 * no load balancer chose one.
	 * Connect failures, timeouts and server errors count against the instance; anything else for it.
	 * @param attempt the attempt
	 * @param failure why it failed, or null when the instance answered
	 * @return whether it failed on a chosen instance (so that the request avoids it from now on)
	 */
	public boolean ended(InstanceAttempt attempt, @Nullable Reason failure) {
		String serviceId = attempt.serviceId();
		String instance = attempt.instance();
		if (serviceId == null || instance == null) {
			return false;
		}
		boolean failed = failure == Reason.CONNECT_FAILURE || failure == Reason.TIMEOUT
				|| failure == Reason.SERVER_ERROR;
		release(attempt);
		detector(serviceId).record(instance, failed);
		return failed;
	}

	/**
	 * Whether an attempt failed on an instance that is now out of rotation while others serve: one instance
	 * failing, which the service's breaker does not count.
	 * @param attempt the attempt
	 * @return whether its instance is ejected and another serves
	 */
	public boolean failedOnAnOutlier(InstanceAttempt attempt) {
		String serviceId = attempt.serviceId();
		String instance = attempt.instance();
		return serviceId != null && instance != null && detector(serviceId).isEjectedWhileOthersServe(instance);
	}

	/**
	 * Whether a request whose last attempt could not connect can go to an instance it has not tried: one in
	 * discovery's latest list, not ejected, and fewer than {@value #MAX_FAILOVERS} failovers so far.
	 * @param last the last attempt
	 * @param tried the instances the request failed on
	 * @param failovers the failovers the request made so far
	 * @return whether another instance is in rotation
	 */
	public boolean canFailOver(InstanceAttempt last, Set<String> tried, int failovers) {
		String serviceId = last.serviceId();
		return serviceId != null && failovers < MAX_FAILOVERS && detector(serviceId).hasInstanceOtherThan(tried);
	}

}
