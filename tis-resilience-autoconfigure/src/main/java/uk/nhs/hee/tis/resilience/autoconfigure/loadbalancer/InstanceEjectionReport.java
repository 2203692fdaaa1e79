package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import java.time.Duration;
import java.util.List;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ObjectProvider;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.OnceLookup;
import uk.nhs.hee.tis.resilience.policy.OutlierDetector;

/**
 * What operators see of ejections: one WARN line per ejection and per return, a counter of ejections and
 * a gauge of each service's instances by state. Every meter and its tags is listed in {@link #METERS}.
 */
final class InstanceEjectionReport implements OutlierDetector.Listener {

	static final String EJECTIONS = "tis.resilience.instance.ejections";

	static final String INSTANCES = "tis.resilience.instances";

	/** Every meter this class registers: name, then its tags. */
	static final List<String> METERS = List.of(EJECTIONS + "{service}", INSTANCES + "{service,state=in_rotation|ejected}");

	private static final Log logger = LogFactory.getLog(InstanceEjectionReport.class);

	private final OnceLookup<MeterRegistry> meters;

	InstanceEjectionReport(ObjectProvider<MeterRegistry> meters) {
		this.meters = new OnceLookup<>(meters);
	}

	@Override
	public void onEjected(String service, String instance, Duration duration, String why) {
		logger.warn("tis-resilience event=instance_ejected service=" + service + " instance=" + instance + " for="
				+ Duration.ofMillis(duration.toMillis()) + " reason=\"" + why + "\"");
		MeterRegistry registry = this.meters.get();
		if (registry != null) {
			Counter.builder(EJECTIONS)
				.description("Instances of a load-balanced service taken out of rotation as outliers")
				.tag("service", service)
				.register(registry)
				.increment();
		}
	}

	@Override
	public void onReturned(String service, String instance) {
		logger.warn("tis-resilience event=instance_returned service=" + service + " instance=" + instance
				+ " reason=\"its ejection is over: back in rotation, on probation until its first answer\"");
	}

	/** Registers the gauges of a service's instances, when its detector is made. */
	void detectorCreated(OutlierDetector detector) {
		MeterRegistry registry = this.meters.get();
		if (registry == null) {
			return;
		}
		Gauge.builder(INSTANCES, detector, (d) -> count(d, false))
			.description("Instances of a load-balanced service, by whether they are in rotation")
			.tag("service", detector.service())
			.tag("state", "in_rotation")
			.register(registry);
		Gauge.builder(INSTANCES, detector, (d) -> count(d, true))
			.description("Instances of a load-balanced service, by whether they are in rotation")
			.tag("service", detector.service())
			.tag("state", "ejected")
			.register(registry);
	}

	private static double count(OutlierDetector detector, boolean ejected) {
		return detector.instances().values().stream().filter((state) -> state.ejected() == ejected).count();
	}

}
