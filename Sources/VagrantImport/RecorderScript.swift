// The Ruby program that evaluates a Vagrantfile: a stand-in for `Vagrant.configure`
// whose configuration objects record every setting and call with its Vagrantfile line,
// and hooks on ENV reads and host commands. Embedded so the binary stays one file;
// written to a private temporary file and run as `ruby RECORDER VAGRANTFILE OUTPUT`.
// It writes one JSON document to OUTPUT (never to standard output, which is the
// Vagrantfile's own), decoded by `Recording`.

enum RecorderScript {
  static let source = #"""
    # Caravan's Vagrantfile recorder: evaluates a Vagrantfile as `vagrant` would, under a
    # stand-in for Vagrant.configure that records each setting with its Vagrantfile line.
    # Usage: ruby RECORDER VAGRANTFILE OUTPUT.json
    require "json"
    require "open3"

    module CaravanRecorder
      FILE = File.expand_path(ARGV[0])
      DIR = File.dirname(FILE)
      OUT = ARGV[1]
      ARGV.clear
      # The Vagrantfile's folder is the working directory, as for `vagrant` run there.
      Dir.chdir(DIR)
      @env = []
      @commands = []
      @plugins = []
      @defines = []
      @root = nil

      class << self
        attr_reader :env, :commands, :plugins, :defines
        attr_accessor :root

        # The line of the Vagrantfile the innermost frame in it is at (0 if none).
        def line
          location = caller_locations.find { |l| l.absolute_path == FILE }
          location ? location.lineno : 0
        end

        # Whether the frame that called the hooked method is project code (not Ruby's own library).
        def from_project?(depth)
          location = caller_locations(depth + 1, 1)&.first
          path = location&.absolute_path
          !path.nil? && (path == FILE || path.start_with?(DIR + "/"))
        end

        def command(kind, args)
          text = args.flatten.map { |a| a.is_a?(Hash) ? nil : a.to_s }.compact.join(" ")
          @commands << { "line" => line, "kind" => kind, "command" => text }
        end

        def value(object, depth = 0)
          return { "ruby" => "(nested too deep)" } if depth > 20
          case object
          when nil, true, false, Integer then object
          when Float then object.finite? ? object : object.to_s
          when String then object.dup.force_encoding("UTF-8").scrub
          when Symbol then object.to_s
          when Array then object.map { |v| value(v, depth + 1) }
          when Hash then { "hash" => object.map { |k, v| [value(k, depth + 1).to_s, value(v, depth + 1)] } }
          when Recorder then { "ruby" => "(a Vagrant configuration object)" }
          else { "ruby" => object.inspect.to_s.dup.force_encoding("UTF-8").scrub }
          end
        end
      end

      # One configuration object (`config`, `config.vm`, a provider or provisioner block): every
      # setting assigned, every method called (with its block's own recording), every child.
      class Recorder < BasicObject
        def initialize(root = nil)
          @events = []
          @children = {}
          @values = {}
          @root = root || self
        end

        def respond_to?(*) = true
        def is_a?(klass) = klass == ::CaravanRecorder::Recorder
        def nil? = false
        def to_s = "#<Vagrant configuration>"
        def inspect = to_s

        def method_missing(name, *args, **options, &block)
          name = name.to_s
          line = ::CaravanRecorder.line
          if name.end_with?("=") && args.length == 1
            @events << { "set" => name.chomp("="), "value" => ::CaravanRecorder.value(args[0]), "line" => line }
            @values[name.chomp("=")] = args[0]
            return args[0]
          end
          if args.empty? && options.empty? && block.nil?
            # A setting read back (`vm.box.to_s`) is its value, as in Vagrant.
            return @values[name] if @values.key?(name)
            return (@children[name] ||= Recorder.new(@root))
          end
          event = { "call" => name, "args" => ::CaravanRecorder.value(args), "line" => line }
          event["options"] = ::CaravanRecorder.value(options) unless options.empty?
          if name == "define" && !block.nil?
            machine = Recorder.new
            ::CaravanRecorder.defines << [event, machine, block]
            event["machine"] = machine
          elsif !block.nil?
            inner = Recorder.new(@root)
            event["block"] = inner
            # A provider block's second argument (`override`) is the machine's whole configuration.
            block.call(inner, @root)
          end
          @events << event
          self
        end

        def __dump
          out = { "events" => @events.map { |e| e.transform_values { |v| v.is_a?(Recorder) ? v.__dump : v } } }
          out["children"] = @children.transform_values(&:__dump) unless @children.empty?
          out
        end
      end

      # The reads of ENV, recorded when the Vagrantfile (or a file of its project) makes them.
      module EnvReads
        def [](name)
          found = super
          CaravanRecorder.env << { "name" => name.to_s, "how" => "[]", "value" => found, "line" => CaravanRecorder.line } if CaravanRecorder.from_project?(1)
          found
        end

        def fetch(name, *default, &block)
          if CaravanRecorder.from_project?(1)
            entry = { "name" => name.to_s, "how" => "fetch", "value" => super(name, nil), "line" => CaravanRecorder.line }
            entry["default"] = CaravanRecorder.value(default.first) unless default.empty?
            CaravanRecorder.env << entry
          end
          super
        end

        %i[key? has_key? include? member?].each do |method|
          define_method(method) do |name|
            found = super(name)
            CaravanRecorder.env << { "name" => name.to_s, "how" => method.to_s, "value" => found ? ENV.to_h[name] : nil, "line" => CaravanRecorder.line } if CaravanRecorder.from_project?(1)
            found
          end
        end
      end
      ENV.singleton_class.prepend(EnvReads)

      # Host commands: recorded with their line, and still run (as `vagrant` runs them).
      module HostCommands
        %i[system ` spawn exec].each do |method|
          define_method(method) do |*args, **options, &block|
            CaravanRecorder.command(method.to_s, args) if CaravanRecorder.from_project?(1)
            super(*args, **options, &block)
          end
        end
      end
      Object.prepend(HostCommands)
      Kernel.singleton_class.prepend(HostCommands)

      module Popen
        def popen(*args, **options, &block)
          CaravanRecorder.command("IO.popen", args) if CaravanRecorder.from_project?(1)
          super
        end
      end
      IO.singleton_class.prepend(Popen)

      module Open3Calls
        %i[popen3 popen2 popen2e capture3 capture2 capture2e pipeline_r pipeline_w pipeline_rw pipeline pipeline_start].each do |method|
          define_method(method) do |*args, **options, &block|
            CaravanRecorder.command("Open3.#{method}", args) if CaravanRecorder.from_project?(1)
            super(*args, **options, &block)
          end
        end
      end
      Open3.singleton_class.prepend(Open3Calls)
    end

    # The stand-in for Vagrant itself: configure, require_version, has_plugin?.
    module Vagrant
      VERSION = "2.4.1"

      def self.configure(version = "2")
        CaravanRecorder.root ||= CaravanRecorder::Recorder.new
        yield CaravanRecorder.root
      end

      def self.require_version(*) = nil

      def self.has_plugin?(name, *)
        CaravanRecorder.plugins << { "name" => name.to_s, "line" => CaravanRecorder.line }
        false
      end

      def self.plugins_enabled? = false

      module Util
        module Platform
          def self.windows? = false
          def self.linux? = true
          def self.darwin? = false
          def self.wsl? = false
        end
      end
    end

    result = {}
    begin
      load CaravanRecorder::FILE
      # Vagrant evaluates each machine's `define` block after the whole Vagrantfile, in order.
      CaravanRecorder.defines.each { |_, machine, block| block.call(machine) }
    rescue SystemExit => e
      result["error"] = { "class" => "SystemExit", "message" => "the Vagrantfile called exit (status #{e.status})", "line" => CaravanRecorder.line }
    rescue ScriptError, StandardError, SystemStackError, NoMemoryError => e
      frame = (e.backtrace_locations || []).find { |l| l.absolute_path == CaravanRecorder::FILE }
      line = frame ? frame.lineno : 0
      if e.is_a?(SyntaxError) && line.zero?
        found = e.message.match(/#{Regexp.escape(CaravanRecorder::FILE)}:(\d+):/)
        line = found[1].to_i if found
      end
      result["error"] = { "class" => e.class.name, "message" => CaravanRecorder.value(e.message.to_s), "line" => line }
    end
    result["root"] = CaravanRecorder.root&.__dump
    result["env"] = CaravanRecorder.env.map { |e| e.transform_values { |v| CaravanRecorder.value(v) } }
    result["commands"] = CaravanRecorder.commands
    result["plugins"] = CaravanRecorder.plugins
    File.write(CaravanRecorder::OUT, JSON.generate(result))
    """#
}
