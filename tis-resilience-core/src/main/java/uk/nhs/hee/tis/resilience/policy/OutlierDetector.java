package uk.nhs.hee.tis.resilience.policy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.LongSupplier;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.policy.ServicePolicy.OutlierEjectionPolicy;

/**
 * Takes the instances of one load-balanced service that keep failing out of rotation (outlier
 * ejection), so that one bad instance of two costs callers almost nothing and never opens the whole
 * service's breaker. Told the outcome of every attempt on an instance ({@link #record}), it ejects the
 * instance after {@code consecutive-failures} failures in a row, or when at least
 * {@code failure-percentage-threshold} of its last {@code failure-percentage-request-volume} calls
 * failed. The n-th ejection in a row lasts n times {@code base-ejection-time}, at most
 * {@code max-ejection-time}, with up to 10% jitter so that instances ejected together do not return
 * together; each {@code base-ejection-time} an instance then stays in rotation takes one off that count
 * (Envoy's outlier detection). When its time is up the instance returns on probation, and its first
 * failure ejects it again at once (Finagle's failure accrual probe): the first call to it is the probe.
 * At most {@code max-ejection-percent} of the instances are ejected at once (at least one may always
 * be), and never the last one in rotation.
 *
 * <p>Thread-safe. Instances are named by a key the caller chooses ({@code host:port}).
 *
 * @since 0.3.0
 */
public final class OutlierDetector {

	private final String service;

	private final OutlierEjectionPolicy policy;

	private final Listener listener;

	private final LongSupplier nanoClock;

	private final @Nullable Function<String, CompletionStage<Boolean>> reachability;

	/** Instances unlisted by discovery for this long are forgotten (unless ejected): 2 minutes. */
	private static final long FORGET_AFTER_NANOS = Duration.ofMinutes(2).toNanos();

	private final Map<String, Instance> instances = new HashMap<>();

	/** The instances in discovery's latest list. */
	private Set<String> listed = Set.of();

	private long lastForgetting;

	/**
	 * Creates a detector for one service.
	 * @param service the service's name, for the listener
	 * @param policy when to eject and for how long
	 * @param listener told of every ejection and return
	 */
	public OutlierDetector(String service, OutlierEjectionPolicy policy, Listener listener) {
		this(service, policy, listener, null, System::nanoTime);
	}

	/**
	 * Creates a detector for one service whose instances, when their ejection is over, are first checked
	 * for reachability (a connection opened) before they return: an instance still down or cut off is
	 * ejected again, for longer, without any caller's request being its probe.
	 * @param service the service's name, for the listener
	 * @param policy when to eject and for how long
	 * @param listener told of every ejection and return
	 * @param reachability checks an instance's key, answering later whether it is reachable; must not block
	 * @since 0.3.0
	 */
	public OutlierDetector(String service, OutlierEjectionPolicy policy, Listener listener,
			Function<String, CompletionStage<Boolean>> reachability) {
		this(service, policy, listener, reachability, System::nanoTime);
	}

	OutlierDetector(String service, OutlierEjectionPolicy policy, Listener listener,
			@Nullable Function<String, CompletionStage<Boolean>> reachability, LongSupplier nanoClock) {
		this.service = service;
		this.policy = policy;
		this.listener = listener;
		this.reachability = reachability;
		this.nanoClock = nanoClock;
	}

	/**
	 * Returns the service's name.
	 * @return the name
	 */
	public String service() {
		return this.service;
	}

	/**
	 * Returns the settings this detector applies.
	 * @return the settings
	 */
	public OutlierEjectionPolicy policy() {
		return this.policy;
	}

	/**
	 * Records the outcome of one attempt on an instance, and ejects it when that makes it an outlier.
	 * @param instance the instance's key
	 * @param failed whether the attempt failed (a connect failure, a timeout or a server error)
	 */
	public void record(String instance, boolean failed) {
		Ejection ejection = null;
		Return returned;
		synchronized (this) {
			long now = this.nanoClock.getAsLong();
			Instance state = this.instances.computeIfAbsent(instance, (key) -> new Instance(this.policy));
			returned = state.returnIfDue(now, this.reachability != null);
			// An answer from an instance already ejected (a call that started before) changes nothing.
			if (state.ejectedUntil == 0 && this.policy.enabled()) {
				String why = state.record(failed, this.policy);
				if (why != null && mayEject(now)) {
					ejection = new Ejection(state.eject(now, this.policy), why);
				}
			}
		}
		returned(instance, returned);
		if (ejection != null) {
			this.listener.onEjected(this.service, instance, ejection.duration(), ejection.why());
		}
	}

	private void returned(String instance, Return returned) {
		if (returned == Return.RETURNED) {
			this.listener.onReturned(this.service, instance);
		}
		else if (returned == Return.CHECK && this.reachability != null) {
			this.reachability.apply(instance).whenComplete((reachable, failure) -> checked(instance,
					failure == null && Boolean.TRUE.equals(reachable)));
		}
	}

	// The reachability check of an instance whose ejection is over: it returns on probation, or is ejected again.
	private void checked(String instance, boolean reachable) {
		Duration ejectedFor = null;
		synchronized (this) {
			Instance state = this.instances.get(instance);
			if (state == null || !state.checking) {
				return;
			}
			state.checking = false;
			long now = this.nanoClock.getAsLong();
			if (reachable) {
				state.readmit(now);
			}
			else {
				ejectedFor = state.eject(now, this.policy);
			}
		}
		if (ejectedFor == null) {
			this.listener.onReturned(this.service, instance);
		}
		else {
			this.listener.onEjected(this.service, instance, ejectedFor, "unreachable when its ejection ended");
		}
	}

	/**
	 * An attempt was sent to an instance: it is outstanding until {@link #released}. An instance with many
	 * more outstanding attempts than the least busy one is left out of rotation for a while (see
	 * {@link #inRotation}).
	 * @param instance the instance's key
	 */
	public synchronized void started(String instance) {
		this.instances.computeIfAbsent(instance, (key) -> new Instance(this.policy)).outstanding++;
	}

	/**
	 * An attempt {@link #started} on an instance is over (answered, failed or cancelled). Call it exactly once
	 * per attempt started.
	 * @param instance the instance's key
	 */
	public synchronized void released(String instance) {
		Instance state = this.instances.get(instance);
		if (state != null && state.outstanding > 0) {
			state.outstanding--;
		}
	}

	/**
	 * Returns the instances to choose from: those discovery listed for this request, without the ones
	 * ejected, without an instance back on probation whose probe (its first attempt) is still out, without
	 * instances far busier than the least busy one (more outstanding attempts than it by more than 2, or than
	 * twice its own: a hanging instance collects attempts, and is skipped before it collects every caller),
	 * without an instance that is failing while calls are still out on it (a hanging instance between its first
	 * timeout and its ejection), and without the ones to avoid (those that failed this request already). When that leaves none, the
	 * candidates without only the ejected ones, then all of them. Instances whose ejection is over return
	 * here, on probation.
	 * @param <T> the instance type
	 * @param candidates the service's instances, from discovery
	 * @param key the key of an instance
	 * @param avoid keys of instances this request should not go to again
	 * @return the instances in rotation for this request
	 */
	public <T> List<T> inRotation(List<T> candidates, Function<T, String> key, Collection<String> avoid) {
		Map<String, Return> returned = new HashMap<>();
		List<T> healthy = new ArrayList<>(candidates.size());
		List<Integer> outstanding = new ArrayList<>(candidates.size());
		List<T> suspect = new ArrayList<>(0);
		int least = Integer.MAX_VALUE;
		synchronized (this) {
			long now = this.nanoClock.getAsLong();
			Set<String> listed = new HashSet<>(candidates.size() * 2);
			for (T candidate : candidates) {
				String name = key.apply(candidate);
				listed.add(name);
				Instance state = this.instances.computeIfAbsent(name, (ignored) -> new Instance(this.policy));
				state.lastListed = now;
				Return back = state.returnIfDue(now, this.reachability != null);
				if (back != Return.NONE) {
					returned.put(name, back);
				}
				if (!state.ejectedAt(now) && !(state.probation && state.outstanding > 0)) {
					if (state.consecutiveFailures > 0 && state.outstanding > 0) {
						// Failing, with calls still out on it (a hanging instance between its first timeout and
						// its ejection): skipped while another instance serves.
						suspect.add(candidate);
						continue;
					}
					healthy.add(candidate);
					outstanding.add(state.outstanding);
					least = Math.min(least, state.outstanding);
				}
			}
			this.listed = listed;
			forgetInstancesNoLongerListed(now);
		}
		returned.forEach(this::returned);
		List<T> inRotation = new ArrayList<>(healthy.size());
		int busiest = least + Math.max(2, least);
		for (int i = 0; i < healthy.size(); i++) {
			if (outstanding.get(i) <= busiest) {
				inRotation.add(healthy.get(i));
			}
		}
		if (inRotation.isEmpty()) {
			inRotation = !healthy.isEmpty() ? healthy : (!suspect.isEmpty() ? suspect : candidates);
		}
		if (avoid.isEmpty()) {
			return inRotation;
		}
		List<T> others = new ArrayList<>(inRotation.size());
		for (T candidate : inRotation) {
			if (!avoid.contains(key.apply(candidate))) {
				others.add(candidate);
			}
		}
		return others.isEmpty() ? inRotation : others;
	}

	/**
	 * Whether an instance is out of rotation now while discovery lists another that is not.
	 * @param instance the instance's key
	 * @return whether it is ejected and another instance serves
	 */
	public synchronized boolean isEjectedWhileOthersServe(String instance) {
		Instance state = this.instances.get(instance);
		long now = this.nanoClock.getAsLong();
		return state != null && state.ejectedAt(now) && hasInstanceOtherThan(Set.of(instance));
	}

	/**
	 * Whether discovery's latest list has an instance, not ejected, other than those given: where a request
	 * that could not connect to one instance can go instead. Instances no longer listed do not count.
	 * @param tried keys of the instances the request already tried
	 * @return whether another instance is in rotation
	 */
	public synchronized boolean hasInstanceOtherThan(Set<String> tried) {
		long now = this.nanoClock.getAsLong();
		for (String name : this.listed) {
			Instance state = this.instances.get(name);
			if (state != null && !tried.contains(name) && !state.ejectedAt(now)) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Returns the state of each instance in discovery's latest list, for the actuator endpoint and metrics.
	 * @return the states by instance key, in no particular order
	 */
	public synchronized Map<String, InstanceState> instances() {
		long now = this.nanoClock.getAsLong();
		Map<String, InstanceState> states = new LinkedHashMap<>();
		this.instances.forEach((name, state) -> {
			if (!this.listed.contains(name)) {
				return;
			}
			boolean ejected = state.ejectedAt(now);
			// An ejection whose time is up is probation, even before the next choice makes it so.
			boolean onProbation = !ejected && (state.probation || state.ejectedUntil != 0);
			states.put(name, new InstanceState(ejected, onProbation, state.ejections,
					ejected ? Duration.ofNanos(state.ejectedUntil - now) : Duration.ZERO));
		});
		return states;
	}

	// Keeps no state for instances discovery stopped listing (pods come and go): once unlisted for a while,
	// not ejected and with nothing outstanding, an instance is forgotten.
	private void forgetInstancesNoLongerListed(long now) {
		if (now - this.lastForgetting < FORGET_AFTER_NANOS / 10) {
			return;
		}
		this.lastForgetting = now;
		this.instances.entrySet().removeIf((entry) -> {
			Instance state = entry.getValue();
			return !this.listed.contains(entry.getKey()) && now - state.lastListed > FORGET_AFTER_NANOS
					&& !state.ejectedAt(now) && state.outstanding == 0;
		});
	}

	// Envoy: at most max-ejection-percent of the hosts, but at least one; and never the last one in rotation.
	// The hosts are those of discovery's latest list.
	private boolean mayEject(long now) {
		int known = this.listed.size();
		int ejected = 0;
		for (String name : this.listed) {
			Instance state = this.instances.get(name);
			if (state != null && state.ejectedAt(now)) {
				ejected++;
			}
		}
		int allowed = Math.max(1, (int) Math.floor(known * this.policy.maxEjectionPercent() / 100.0));
		return ejected < allowed && ejected < known - 1;
	}

	/**
	 * An instance's state as seen now.
	 *
	 * @param ejected whether it is out of rotation
	 * @param onProbation whether it returned from an ejection and has not yet answered well
	 * @param ejectionsInARow the count its next ejection's length is multiplied by
	 * @param ejectedFor how much longer it stays out of rotation ({@link Duration#ZERO} when in rotation)
	 * @since 0.3.0
	 */
	public record InstanceState(boolean ejected, boolean onProbation, int ejectionsInARow, Duration ejectedFor) {
	}

	/**
	 * Told when an instance is ejected and when it returns.
	 *
	 * @since 0.3.0
	 */
	public interface Listener {

		/**
		 * An instance was taken out of rotation.
		 * @param service the service
		 * @param instance the instance's key
		 * @param duration how long it stays out, jitter included
		 * @param why what made it an outlier, for the log
		 */
		void onEjected(String service, String instance, Duration duration, String why);

		/**
		 * An instance's ejection is over: it is back in rotation, on probation.
		 * @param service the service
		 * @param instance the instance's key
		 */
		void onReturned(String service, String instance);

	}

	private record Ejection(Duration duration, String why) {
	}

	private enum Return {

		NONE, RETURNED, CHECK

	}

	private static final class Instance {

		private final boolean[] recent;

		private int recentCount;

		private int recentNext;

		private int recentFailures;

		private int consecutiveFailures;

		private long ejectedUntil;

		private boolean probation;

		private int ejections;

		private long inRotationSince;

		private long lastListed;

		private boolean checking;

		private int outstanding;

		Instance(OutlierEjectionPolicy policy) {
			this.recent = new boolean[policy.failurePercentageRequestVolume()];
		}

		/** Records an outcome; answers why the instance is now an outlier, or null. */
		@Nullable String record(boolean failed, OutlierEjectionPolicy policy) {
			if (this.recentCount == this.recent.length) {
				if (this.recent[this.recentNext]) {
					this.recentFailures--;
				}
			}
			else {
				this.recentCount++;
			}
			this.recent[this.recentNext] = failed;
			this.recentNext = (this.recentNext + 1) % this.recent.length;
			if (!failed) {
				this.consecutiveFailures = 0;
				this.probation = false;
				return null;
			}
			this.recentFailures++;
			this.consecutiveFailures++;
			if (this.probation) {
				return "failed on probation, its first call after an ejection";
			}
			if (this.consecutiveFailures >= policy.consecutiveFailures()) {
				return this.consecutiveFailures + " failures in a row";
			}
			if (this.recentCount == this.recent.length
					&& this.recentFailures * 100.0 / this.recentCount >= policy.failurePercentageThreshold()) {
				return this.recentFailures + " of its last " + this.recentCount + " calls failed";
			}
			return null;
		}

		Duration eject(long now, OutlierEjectionPolicy policy) {
			long base = policy.baseEjectionTime().toNanos();
			if (this.ejections > 0 && this.inRotationSince != 0) {
				// Envoy: each base-ejection-time spent in rotation takes one off the multiplier.
				this.ejections = (int) Math.max(0, this.ejections - (now - this.inRotationSince) / base);
			}
			this.ejections++;
			long nanos = Math.min(base * this.ejections, policy.maxEjectionTime().toNanos());
			nanos += (long) (nanos * 0.1 * ThreadLocalRandom.current().nextDouble());
			this.ejectedUntil = (now + nanos == 0) ? 1 : now + nanos;
			this.probation = false;
			this.consecutiveFailures = 0;
			this.recentCount = 0;
			this.recentNext = 0;
			this.recentFailures = 0;
			return Duration.ofNanos(nanos);
		}

		// System.nanoTime() values are compared by their difference, which survives the counter wrapping. An
		// instance whose reachability is being checked is still out.
		boolean ejectedAt(long now) {
			return this.ejectedUntil != 0 && (now - this.ejectedUntil < 0 || this.checking);
		}

		/**
		 * Ends an ejection whose time is up: the instance is back in rotation, on probation; or, with a
		 * reachability check, the check is to be made first.
		 */
		Return returnIfDue(long now, boolean checkFirst) {
			if (this.ejectedUntil == 0 || now - this.ejectedUntil < 0 || this.checking) {
				return Return.NONE;
			}
			if (checkFirst) {
				this.checking = true;
				return Return.CHECK;
			}
			readmit(now);
			return Return.RETURNED;
		}

		void readmit(long now) {
			this.ejectedUntil = 0;
			this.probation = true;
			this.inRotationSince = now;
		}

	}

}
