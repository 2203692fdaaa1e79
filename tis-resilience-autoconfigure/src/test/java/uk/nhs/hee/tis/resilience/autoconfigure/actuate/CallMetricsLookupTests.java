package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;

import uk.nhs.hee.tis.resilience.policy.CallOutcome;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The call timer looks the {@code MeterRegistry} up in the bean factory once, whether or not the application
 * has one: a look-up on every call ran on the event loop of every WebClient call and cost more than the
 * guard (a profile of a loopback call found it there, in an application without a registry).
 */
class CallMetricsLookupTests {

	@Test
	void looksForAMissingRegistryOnlyOnce() {
		DefaultListableBeanFactory beanFactory = new DefaultListableBeanFactory();
		CountingProvider registries = new CountingProvider(beanFactory.getBeanProvider(MeterRegistry.class));
		CallMetrics metrics = new CallMetrics(registries);
		callsAThousandTimesAndFailsOverOnce(metrics);
		assertThat(registries.lookups).hasValue(1);
	}

	@Test
	void looksForThePresentRegistryOnlyOnceAndRecordsEveryCall() {
		DefaultListableBeanFactory beanFactory = new DefaultListableBeanFactory();
		SimpleMeterRegistry meters = new SimpleMeterRegistry();
		beanFactory.registerSingleton("meterRegistry", meters);
		CountingProvider registries = new CountingProvider(beanFactory.getBeanProvider(MeterRegistry.class));
		CallMetrics metrics = new CallMetrics(registries);
		callsAThousandTimesAndFailsOverOnce(metrics);
		assertThat(registries.lookups).hasValue(1);
		assertThat(meters.get(CallMetrics.CALLS).tag("service", "profile").tag("outcome", "success").timer().count())
			.isEqualTo(1_000);
		assertThat(meters.get(CallMetrics.FAILOVERS).tag("service", "profile").counter().count()).isEqualTo(1);
	}

	private static void callsAThousandTimesAndFailsOverOnce(CallMetrics metrics) {
		for (int i = 0; i < 1_000; i++) {
			metrics.onCall("profile", CallOutcome.SUCCESS, TimeUnit.MILLISECONDS.toNanos(2));
		}
		metrics.onFailover("profile");
	}

	/** Spring's provider, counting how often it is asked. */
	private static final class CountingProvider implements ObjectProvider<MeterRegistry> {

		private final ObjectProvider<MeterRegistry> delegate;

		private final AtomicInteger lookups = new AtomicInteger();

		CountingProvider(ObjectProvider<MeterRegistry> delegate) {
			this.delegate = delegate;
		}

		@Override
		public MeterRegistry getObject() throws BeansException {
			this.lookups.incrementAndGet();
			return this.delegate.getObject();
		}

		@Override
		public MeterRegistry getObject(Object... args) throws BeansException {
			this.lookups.incrementAndGet();
			return this.delegate.getObject(args);
		}

		@Override
		public @Nullable MeterRegistry getIfAvailable() throws BeansException {
			this.lookups.incrementAndGet();
			return this.delegate.getIfAvailable();
		}

		@Override
		public @Nullable MeterRegistry getIfUnique() throws BeansException {
			this.lookups.incrementAndGet();
			return this.delegate.getIfUnique();
		}

	}

}
